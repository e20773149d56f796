# Independent reference: 784-400-400-10 ReLU MLP, PyTorch default init, Adam(1e-3), batch 100,
# one epoch over MNIST in [0,1]; prints test accuracy.
import gzip, numpy as np, sys
import os; d=os.environ.get('GPED_DATA_DIR','../shared/data')+'/mnist/'
def imgs(f): return np.frombuffer(gzip.open(d+f).read(),np.uint8,offset=16).reshape(-1,784).astype(np.float32)/255
def labs(f): return np.frombuffer(gzip.open(d+f).read(),np.uint8,offset=8)
X,Y,Xt,Yt=imgs('train-images-idx3-ubyte.gz'),labs('train-labels-idx1-ubyte.gz'),imgs('t10k-images-idx3-ubyte.gz'),labs('t10k-labels-idx1-ubyte.gz')
rng=np.random.default_rng(int(sys.argv[1]) if len(sys.argv)>1 else 0)
sizes=[784,400,400,10]
P=[]
for i,o in zip(sizes[:-1],sizes[1:]):
    b=1/np.sqrt(i); P+= [rng.uniform(-b,b,(o,i)).astype(np.float32), rng.uniform(-b,b,o).astype(np.float32)]
m=[np.zeros_like(p) for p in P]; v=[np.zeros_like(p) for p in P]
def fwd(x):
    h=[x]
    for l in range(3):
        z=h[-1]@P[2*l].T+P[2*l+1]
        h.append(np.maximum(z,0) if l<2 else z)
    return h
perm=rng.permutation(60000); t=0
for s in range(600):
    idx=perm[s*100:(s+1)*100]; x,y=X[idx],Y[idx]
    h=fwd(x); z=h[-1]; z=z-z.max(1,keepdims=True); p=np.exp(z); p/=p.sum(1,keepdims=True)
    g=p.copy(); g[np.arange(100),y]-=1; g/=100
    grads=[None]*6
    for l in (2,1,0):
        grads[2*l]=g.T@h[l]; grads[2*l+1]=g.sum(0)
        if l>0: g=(g@P[2*l])*(h[l]>0)
    t+=1
    for i in range(6):
        m[i]=0.9*m[i]+0.1*grads[i]; v[i]=0.999*v[i]+0.001*grads[i]**2
        P[i]-=1e-3*(m[i]/(1-0.9**t))/(np.sqrt(v[i]/(1-0.999**t))+1e-8)
acc=(fwd(Xt)[-1].argmax(1)==Yt).mean(); print('numpy reference, one epoch: test accuracy',acc)
